# Servidor de chat - Trabalho 1 de Redes de Computadores
# Protocolo: o cliente manda "nickname=<apelido>" e depois "mensagem=<texto>".
# O servidor responde com boas-vindas e repassa "<apelido>: <texto>".
import socket
import threading

HOST = '127.0.0.1'
PORTA = 32713

clientes = []  # lista de (conexao, apelido)
trava = threading.Lock()


def enviar_para_todos(texto):
    # manda o texto para todos os clientes conectados
    with trava:
        for conexao, apelido in clientes:
            try:
                conexao.sendall(texto.encode())
            except OSError:
                pass


def atender(conexao, endereco):
    apelido = None
    try:
        dados = conexao.recv(1024).decode()
        if not dados.startswith('nickname='):
            conexao.close()
            return
        apelido = dados[len('nickname='):]
        conexao.sendall(f'Bem-vindo ao chat, {apelido}!'.encode())
        enviar_para_todos(f'{apelido} entrou no chat')
        with trava:
            clientes.append((conexao, apelido))
        print(f'{apelido} conectou de {endereco[0]}:{endereco[1]}')
        while True:
            dados = conexao.recv(1024)
            if not dados:
                break
            texto = dados.decode()
            if texto.startswith('mensagem='):
                enviar_para_todos(f'{apelido}: {texto[len("mensagem="):]}')
    except (ConnectionResetError, UnicodeDecodeError):
        pass
    finally:
        with trava:
            if (conexao, apelido) in clientes:
                clientes.remove((conexao, apelido))
        conexao.close()
        if apelido is not None:
            print(f'{apelido} saiu')
            enviar_para_todos(f'{apelido} saiu do chat')


servidor = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
servidor.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
servidor.bind((HOST, PORTA))
servidor.listen(5)
print(f'Servidor ouvindo em {HOST}:{PORTA}')

while True:
    conexao, endereco = servidor.accept()
    t = threading.Thread(target=atender, args=(conexao, endereco))
    t.daemon = True
    t.start()
