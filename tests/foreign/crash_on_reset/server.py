# Servidor de chat (sala única).  Uso: python server.py PORTA
# Pede o nome com "Digite seu nome: ", avisa a sala e repassa "nome diz: texto".
# "/sair" sai da sala.
import socket
import sys
import threading

clientes = []  # [conexao, nome]


def mandar(texto, menos=None):
    for conexao, nome in clientes:
        if conexao is not menos:
            conexao.send(texto.encode())


def tratar(conexao, nome):
    while True:
        msg = conexao.recv(1024).decode()
        if not msg or msg == '/sair':
            break
        mandar(f'{nome} diz: {msg}', conexao)
    clientes.remove([conexao, nome])
    conexao.close()
    print(nome, 'desconectou')
    mandar(f'{nome} saiu da sala')


porta = int(sys.argv[1])
servidor = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
servidor.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
servidor.bind(('127.0.0.1', porta))
servidor.listen()
print('Aguardando conexões na porta', porta)

while True:
    conexao, endereco = servidor.accept()
    conexao.send('Digite seu nome: '.encode())
    nome = conexao.recv(1024).decode()
    if not nome:
        conexao.close()
        continue
    print(nome, 'conectado de', f'{endereco[0]}:{endereco[1]}')
    mandar(f'{nome} entrou na sala')
    clientes.append([conexao, nome])
    t = threading.Thread(target=tratar, args=(conexao, nome), daemon=True)
    t.start()
