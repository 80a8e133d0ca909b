# Servidor do chat em grupo.  Uso: python server.py <porta>
# Ao conectar o servidor manda APELIDO e o cliente responde com o apelido.
# Mensagens vão para todos menos quem mandou, como "apelido:texto".
# "sair" encerra: o servidor responde BYE e fecha.
import socket
import sys
import threading

clientes = {}  # conexao -> apelido
trava = threading.Lock()


def transmitir(msg, remetente=None):
    # manda para todos menos o remetente; quem der erro no envio caiu
    caidos = []
    with trava:
        for conexao in list(clientes):
            if conexao is remetente:
                continue
            try:
                conexao.send(msg.encode())
            except OSError:
                caidos.append((conexao, clientes.pop(conexao)))
    for conexao, apelido in caidos:
        conexao.close()
        print(f'{apelido} saiu')
        transmitir(f'{apelido} saiu')


def atender(conexao, endereco):
    conexao.send(b'APELIDO')
    apelido = conexao.recv(1024).decode().strip()
    if not apelido:
        conexao.close()
        return
    with trava:
        clientes[conexao] = apelido
    print(f'{apelido} entrou ({endereco[0]}:{endereco[1]})')
    transmitir(f'{apelido} entrou', conexao)
    while True:
        try:
            msg = conexao.recv(1024).decode()
        except OSError:
            return  # caiu; o transmitir percebe depois
        if not msg:
            return
        if msg == 'sair':
            with trava:
                del clientes[conexao]
            try:
                conexao.send(b'BYE')
            except OSError:
                pass
            conexao.close()
            print(f'{apelido} saiu')
            transmitir(f'{apelido} saiu')
            return
        transmitir(f'{apelido}:{msg}', conexao)


porta = int(sys.argv[1])
servidor = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
servidor.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
servidor.bind(('127.0.0.1', porta))
servidor.listen()
print('Servidor rodando na porta', porta)
while True:
    conexao, endereco = servidor.accept()
    threading.Thread(target=atender, args=(conexao, endereco), daemon=True).start()
